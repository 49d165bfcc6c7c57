"""Below everything: exit-code errors, recipe value types, where files are, the rank, the device's environment, metrics, resolvers, the terminal."""
