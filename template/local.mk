# The team's own make targets. This file belongs to the service: template updates never
# touch it, while the Makefile that includes it is merged on every update. Example:
#
# seed: ## Load demo data
# 	uv run python -m scripts.seed
