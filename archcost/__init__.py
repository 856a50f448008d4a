"""archcost: analytic architecture cost of neural networks from YAML specs."""

__version__ = "0.1.0"
