# Two entry points, both working on a fresh machine (see README, Quick start).
.PHONY: demo test

.venv/installed: pyproject.toml
	python3 -m venv .venv
	.venv/bin/python -m pip install --quiet --disable-pip-version-check -e .
	touch .venv/installed

demo: .venv/installed
	.venv/bin/revisit demo

test:
	bash tests/run.sh
