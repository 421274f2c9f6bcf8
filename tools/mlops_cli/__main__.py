"""``python -m tools.mlops_cli <command> --env ENV --model MODEL [...]``"""

from tools.mlops_cli.cli import main

raise SystemExit(main())
