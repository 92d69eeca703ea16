"""Architecture design: closed-form estimates (estimates.py), tier validation (validate.py),
config proposals from the measured throughput of this machine (design.py, probe.py)."""

from tools.arch.design import ARCH_PROFILES, DesignRequest, design
from tools.arch.estimates import estimate, with_estimates
from tools.arch.validate import Validation, validate

__all__ = ["ARCH_PROFILES", "DesignRequest", "Validation", "design", "estimate", "validate", "with_estimates"]
