"""Documents -> elements -> chunks -> vectors -> index, with sync state so re-runs only do what changed."""
