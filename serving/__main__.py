"""`python -m serving --model_config_file models.config --port 8500 --rest_api_port 8501`."""

from serving.server import main

raise SystemExit(main())
