"""App sync: the register payload, the functions it declares, the registry that keeps them."""
