"""Gunicorn's access log line, written without gunicorn's table of every request and response header.

For each request gunicorn builds a dictionary of every atom its `access_log_format` could name (each
request header, response header and WSGI environ variable under its own key), then formats the line
from it: about 20 µs per request, some 3% of a small API request's CPU, for a line that names nine of
them. This logger writes the default (Apache combined) line from the values themselves, the same text;
a deployment that sets its own `--access-logformat` gets gunicorn's own formatting. deploy/gunicorn.conf.py
selects it (`logger_class`).
"""

import time

from gunicorn import glogging
from gunicorn.config import AccessLogFormat


class Logger(glogging.Logger):
    _second = None
    _stamp = ""

    def now(self):
        """The Common Log Format time, formatted once per second (gunicorn formats it per request)."""
        second = int(time.time())
        if second != self._second:
            self._stamp = time.strftime("[%d/%b/%Y:%H:%M:%S %z]", time.localtime(second))
            self._second = second
        return self._stamp

    def access(self, resp, req, environ, request_time):
        if self.cfg.access_log_format != AccessLogFormat.default:
            return super().access(resp, req, environ, request_time)
        cfg = self.cfg
        if not (
            cfg.accesslog
            or cfg.logconfig
            or cfg.logconfig_dict
            or cfg.logconfig_json
            or (cfg.syslog and not cfg.disable_redirect_access_to_syslog)
        ):
            return None
        status = resp.status
        if isinstance(status, str):
            status = status.split(None, 1)[0]
        sent = getattr(resp, "sent", None)
        request = "%s %s %s" % (environ["REQUEST_METHOD"], environ["RAW_URI"], environ["SERVER_PROTOCOL"])  # noqa: UP031
        # '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"', as gunicorn fills it in: text
        # values with their double quotes escaped (gunicorn's SafeAtoms).
        values = (
            environ.get("REMOTE_ADDR", "-"),
            "-",
            self._get_user(environ) or "-",
            self.now(),
            request,
            status,
            sent is not None and str(sent) or "-",
            environ.get("HTTP_REFERER", "-"),
            environ.get("HTTP_USER_AGENT", "-"),
        )
        line = '%s %s %s %s "%s" %s %s "%s" "%s"' % tuple(  # noqa: UP031 - one formatting pass
            value.replace('"', '\\"') if isinstance(value, str) else value for value in values
        )
        try:
            self.access_log.info(line)
        except Exception:
            self.exception("could not write the access log line")
        return None
