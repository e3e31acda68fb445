"""An example intrain plugin: the `alive_fraction` proxy and the `toy_cnn` space."""
