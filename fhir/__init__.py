"""FHIR R4 face of HMS (API.md section 18): read, search and booking over the domain apps.

The installed `fhir.resources` package (used by the tests to validate every response) lives in a
`fhir` package of its own; extending this package's path lets `fhir.resources` import beside this app.
"""

from pkgutil import extend_path

__path__ = extend_path(__path__, __name__)
