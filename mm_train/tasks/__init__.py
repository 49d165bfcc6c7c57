"""The task functions registered in TASKS: train, eval, summary, check, export, predict."""
