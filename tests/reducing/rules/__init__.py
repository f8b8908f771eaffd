"""The shared reducer rule suite: one abstract case per rule area, run by every engine.

Specification sections 2-6 and 8 give one fold semantics, and seven engines
implement it: ``replay()``, the command line's stream replay and
``replay_lines``, each in pure Python and on the compiled core, and the
incremental ``Projection``. Each rule area is one abstract case
(``ConnectorRules``, ``SyncRules``, ``LinkRules``, ``ReplayRules``,
``DedupRules``) whose tests build a log, hand it to the abstract
``RuleCase.replay_log`` and compare what comes back with the values the
specification and its tables give. Each engine subclasses every case (the
``test_*.py`` modules here), as eventsourcing's storage adapters subclass
its ``AggregateRecorderTestCase``, so a rule tightened or broken in one
engine fails that engine's copy of the test.

The case modules (``base``, ``connector``, ``sync``, ``links``, ``replay``,
``dedup``) hold no ``Test*`` class: pytest collects only the engine
subclasses. ``test_anomaly_kinds`` checks that the suite asserts every
anomaly kind the specification names.
"""
