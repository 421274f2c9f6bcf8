"""Monthly cost estimate per environment and model, from the synthesized templates and a dated price table."""
