"""Who funds which worker in which month."""
