// Placeholder so the library target exists until the simulator lands.
