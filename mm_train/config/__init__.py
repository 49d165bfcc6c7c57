"""A composed config checked before anything is built: schema, recipes and their boundary, composition, inheritance, sweep parameters, the run's record."""
