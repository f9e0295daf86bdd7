"""Every implementation (NumPy engine and frameworks) behind one interface; see ``base``."""
