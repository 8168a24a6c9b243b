"""State-change actions written once: the row (404 when the caller may not see it), the caller's right to
take the step (403), the input validated (400), one service call with the actor, the row out. The viewset
names the service's keyword for the row and renders the answer with its own `_out(row)` (which re-reads
the row with its prefetches)."""


class StepMixin:
    step_object: str  # the service's keyword for the row, e.g. "referral" for referral_accept(referral=...)

    def step(self, service, data_class=None, check=None):
        """`service(by=request.user, <step_object>=row, **validated input)`, answered by `self._out`.

        The row is looked up, then `check(by=request.user, <step_object>=row)` (the service's own rule of who
        may take the step, raising PermissionDenied) runs, and only then is the input validated: an invisible
        row is 404 and a caller who may not act is 403, whatever the body."""
        row = self.get_object()
        if check is not None:
            check(by=self.request.user, **{self.step_object: row})
        fields = {}
        if data_class is not None:
            data = data_class(data=self.request.data)
            data.is_valid(raise_exception=True)
            fields = data.validated_data
        return self._out(service(by=self.request.user, **{self.step_object: row}, **fields))
