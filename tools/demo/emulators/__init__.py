"""AWS service behaviours moto 5.2.5 lacks, built on moto's API as their data plane (one module each).

| module | emulates | real underneath |
|---|---|---|
| ``jobs`` | SageMaker Processing and Training jobs (built-in XGBoost) | the job request, our scripts, S3 |
| ``athena`` | Athena query execution (DuckDB over the Glue tables' Parquet) | the query, Glue, S3, workgroup |
| ``pipelines`` | SageMaker Pipelines executions and their EventBridge status events | the deployed definition |
| ``feature_store`` | Feature Store runtime and offline-store files and Glue table | the feature group definition |

Each module's docstring says what it could hide. ``runtime`` holds the shared client factory, the
compressible clock and the access to moto's in-process state.
"""
