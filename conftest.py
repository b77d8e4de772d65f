pytest_plugins = ["common.testing.pytest_plugin"]
