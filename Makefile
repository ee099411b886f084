.PHONY: demo test unit lint down

demo:  ## control plane + controller + an Application synced from Git: a bad commit rolled back by analysis, a good one promoted
	scripts/demo.sh

test:  ## the whole suite (what CI runs)
	scripts/test.sh

unit:  ## pure tests only, no cluster
	scripts/bootstrap.sh && .venv/bin/pytest -q -m "not cluster"

down:
	.venv/bin/rollwave dev down
