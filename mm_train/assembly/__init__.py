"""Parts built from a validated config: data, network, training; init_from weights; data parallel."""
