"""Fuzzing in the suite: Hypothesis settings bounded so every fuzz test together stays well under a minute."""
from hypothesis import HealthCheck, settings

# deadline=None: a shared 2-core machine makes single examples slow now and then; speed belongs in bench/.
settings.register_profile("gisportal-fuzz", max_examples=100, deadline=None, derandomize=False,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                                 HealthCheck.function_scoped_fixture, HealthCheck.data_too_large])
settings.load_profile("gisportal-fuzz")
