"""Energy model on top of the engine's counts (docs/ENERGY_MODEL.md)."""
from .model import energy_of, coefficients_of, full_load_power, EnergyReport, EnergyCoefficients, COMPONENTS
