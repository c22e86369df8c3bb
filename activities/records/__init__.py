"""The app database's incident rows, and their only writer.

One writer per row: the modules here are the only code that inserts or changes ``Incident``,
``Step``, ``Approval``, ``ApprovalVote`` and ``IncidentEvidence`` rows
(``tests/test_row_writers.py`` scans the product for any other). Who writes which row:

- ``Incident`` (opening, status, outcome): a playbook run, first through the gate (its
  incident's first record), then ``record_incident``; :func:`rows.upsert_incident` by way of
  :meth:`writer.RecordWriter.incident`.
- ``Incident`` (opening, when the run has not recorded it yet): the API's opening path
  (``api.services.incidents``, also behind detection's open-or-attach activity);
  :func:`incident_rows.insert_opened_incident`.
- ``Incident`` (final status of a run that ended without one) and its pending ``Approval``
  rows (timed out): the incident sweeper (``activities.incidents.sweep``);
  :func:`incident_rows.close_swept_incident`.
- ``Step``: a playbook run, through ``record_step`` and apply (the step's ``applied`` record);
  :func:`rows.upsert_step` by way of :meth:`writer.RecordWriter.step`.
- ``Approval`` and ``ApprovalVote``: a playbook run, through ``record_approval``;
  :func:`rows.upsert_approval` by way of :meth:`writer.RecordWriter.approval`.
- ``IncidentEvidence``: the API's opening path, when an incident opens or evidence is attached
  to an open one; :func:`incident_rows.insert_evidence`.

Modules: ``rows`` (a run's upserts, plain functions on a ``Session``), ``incident_rows`` (the
writes from outside a run), ``writer`` (``RecordWriter``: a run's one write path, the row and
its ledger entries in one transaction), ``activities`` (the record activities, thin wrappers
of the writer), ``facts`` (policy facts noted in the same transactions), ``ledger_events`` and
``write_lock``. The gate and apply hold the worker's ``RecordWriter``, never the activities.
"""
