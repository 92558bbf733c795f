"""Pure mapping layer: neutral models and the functions between them. No I/O, no clock reads."""
