"""Listen, attend and spell (Chan et al. 2016) with location-aware attention (Chorowski et al. 2015)."""
