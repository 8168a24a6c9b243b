"""State-change actions written once: the row (404 when the caller may not see it), the input validated
(400), one service call with the actor, the row out. The viewset names the service's keyword for the row
and renders the answer with its own `_out(row)` (which re-reads the row with its prefetches)."""


class StepMixin:
    step_object: str  # the service's keyword for the row, e.g. "referral" for referral_accept(referral=...)

    def step(self, service, data_class=None):
        """`service(by=request.user, <step_object>=row, **validated input)`, answered by `self._out`.

        The row is looked up before the input is validated, so an invisible row is 404 whatever the body."""
        row = self.get_object()
        fields = {}
        if data_class is not None:
            data = data_class(data=self.request.data)
            data.is_valid(raise_exception=True)
            fields = data.validated_data
        return self._out(service(by=self.request.user, **{self.step_object: row}, **fields))
