"""Packaging glue for the one import namespace (everything else is in pyproject.toml).

The design card fixes the top-level folders (ingest/, retrieval/, api/, connectors/, evals/ beside the kernel
citewise/), while the distribution must add exactly one import name, `citewise`. setuptools' package-dir
mapping does both: `citewise.ingest` is the folder ingest/, and so on. pyproject.toml cannot compute the
package list for such a mapping, so it is computed here, once, from the folders themselves (with the data
files that ship inside those packages).
"""

from setuptools import find_packages, setup

LAYERS = ("connectors", "retrieval", "ingest", "api", "evals")

packages = find_packages(include=["citewise", "citewise.*"])
package_dir = {"citewise": "citewise"}
for layer in LAYERS:
    package_dir[f"citewise.{layer}"] = layer
    packages += [f"citewise.{layer}"] + [f"citewise.{layer}.{sub}" for sub in find_packages(layer)]

package_data = {
    "citewise": ["migrations/*.mako"],
    "citewise.api.orchestration.prompts": ["*.txt"],
    "citewise.api.orchestration.routing": ["*.json"],
    "citewise.api.http.ui": ["*.html", "*.js", "*.css"],
}

setup(packages=packages, package_dir=package_dir, package_data=package_data)
