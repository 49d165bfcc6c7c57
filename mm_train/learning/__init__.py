"""What a train step is made of: losses, optimizers, learning-rate schedules, mixed precision, the train-step cell, EMA."""
