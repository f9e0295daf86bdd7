"""The from-scratch engine: NumPy only. No framework or autodiff import may appear under this package."""
