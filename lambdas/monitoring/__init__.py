"""Scheduled drift monitoring: the Lambda steps of the drift-monitoring state machine (``window`` lists a window's
data capture into a Processing-job manifest)."""
