"""Reusable L3 constructs of the platform.

Named ``mlops_constructs`` rather than ``constructs``: a top-level ``constructs/`` package would shadow the
``constructs`` library that aws-cdk-lib itself imports, and the app would fail to import.
"""
