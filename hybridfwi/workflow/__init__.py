"""Run folders: the layer that reads inputs, calls the library, and writes results, reports and figures."""
