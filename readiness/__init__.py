"""The readiness self-assessment (questionnaires as data, results, progress, regional
benchmarks) and the Secretariat's participation analytics."""
