from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ExecutionStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EXECUTION_STATUS_UNSPECIFIED: _ClassVar[ExecutionStatus]
    PENDING: _ClassVar[ExecutionStatus]
    RUNNING: _ClassVar[ExecutionStatus]
    PAUSED: _ClassVar[ExecutionStatus]
    COMPLETED: _ClassVar[ExecutionStatus]
    FAILED: _ClassVar[ExecutionStatus]
    CANCELLED: _ClassVar[ExecutionStatus]

class BatchStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BATCH_STATUS_UNSPECIFIED: _ClassVar[BatchStatus]
    BATCH_RUNNING: _ClassVar[BatchStatus]
    BATCH_COMPLETED: _ClassVar[BatchStatus]
    BATCH_CANCELLED: _ClassVar[BatchStatus]
    BATCH_INTERRUPTED: _ClassVar[BatchStatus]
EXECUTION_STATUS_UNSPECIFIED: ExecutionStatus
PENDING: ExecutionStatus
RUNNING: ExecutionStatus
PAUSED: ExecutionStatus
COMPLETED: ExecutionStatus
FAILED: ExecutionStatus
CANCELLED: ExecutionStatus
BATCH_STATUS_UNSPECIFIED: BatchStatus
BATCH_RUNNING: BatchStatus
BATCH_COMPLETED: BatchStatus
BATCH_CANCELLED: BatchStatus
BATCH_INTERRUPTED: BatchStatus

class Interrupt(_message.Message):
    __slots__ = ("id", "node", "value_json")
    ID_FIELD_NUMBER: _ClassVar[int]
    NODE_FIELD_NUMBER: _ClassVar[int]
    VALUE_JSON_FIELD_NUMBER: _ClassVar[int]
    id: str
    node: str
    value_json: str
    def __init__(self, id: _Optional[str] = ..., node: _Optional[str] = ..., value_json: _Optional[str] = ...) -> None: ...

class Execution(_message.Message):
    __slots__ = ("execution_id", "project", "status", "state_json", "error", "checkpoint_id", "duration_ms", "next", "interrupts", "variant_config", "workflow_variant", "project_version", "parent_execution_id", "created_at", "updated_at")
    class VariantConfigEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    EXECUTION_ID_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    STATE_JSON_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_ID_FIELD_NUMBER: _ClassVar[int]
    DURATION_MS_FIELD_NUMBER: _ClassVar[int]
    NEXT_FIELD_NUMBER: _ClassVar[int]
    INTERRUPTS_FIELD_NUMBER: _ClassVar[int]
    VARIANT_CONFIG_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_VARIANT_FIELD_NUMBER: _ClassVar[int]
    PROJECT_VERSION_FIELD_NUMBER: _ClassVar[int]
    PARENT_EXECUTION_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    execution_id: str
    project: str
    status: ExecutionStatus
    state_json: str
    error: str
    checkpoint_id: str
    duration_ms: float
    next: _containers.RepeatedScalarFieldContainer[str]
    interrupts: _containers.RepeatedCompositeFieldContainer[Interrupt]
    variant_config: _containers.ScalarMap[str, str]
    workflow_variant: str
    project_version: str
    parent_execution_id: str
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, execution_id: _Optional[str] = ..., project: _Optional[str] = ..., status: _Optional[_Union[ExecutionStatus, str]] = ..., state_json: _Optional[str] = ..., error: _Optional[str] = ..., checkpoint_id: _Optional[str] = ..., duration_ms: _Optional[float] = ..., next: _Optional[_Iterable[str]] = ..., interrupts: _Optional[_Iterable[_Union[Interrupt, _Mapping]]] = ..., variant_config: _Optional[_Mapping[str, str]] = ..., workflow_variant: _Optional[str] = ..., project_version: _Optional[str] = ..., parent_execution_id: _Optional[str] = ..., created_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RunRequest(_message.Message):
    __slots__ = ("project", "initial_state_json", "variant_config", "workflow_variant", "breakpoints", "execution_id", "detach")
    class VariantConfigEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    INITIAL_STATE_JSON_FIELD_NUMBER: _ClassVar[int]
    VARIANT_CONFIG_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_VARIANT_FIELD_NUMBER: _ClassVar[int]
    BREAKPOINTS_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_ID_FIELD_NUMBER: _ClassVar[int]
    DETACH_FIELD_NUMBER: _ClassVar[int]
    project: str
    initial_state_json: str
    variant_config: _containers.ScalarMap[str, str]
    workflow_variant: str
    breakpoints: _containers.RepeatedScalarFieldContainer[str]
    execution_id: str
    detach: bool
    def __init__(self, project: _Optional[str] = ..., initial_state_json: _Optional[str] = ..., variant_config: _Optional[_Mapping[str, str]] = ..., workflow_variant: _Optional[str] = ..., breakpoints: _Optional[_Iterable[str]] = ..., execution_id: _Optional[str] = ..., detach: bool = ...) -> None: ...

class ResumeRequest(_message.Message):
    __slots__ = ("execution_id", "resume_json", "updates_json", "as_node", "detach")
    EXECUTION_ID_FIELD_NUMBER: _ClassVar[int]
    RESUME_JSON_FIELD_NUMBER: _ClassVar[int]
    UPDATES_JSON_FIELD_NUMBER: _ClassVar[int]
    AS_NODE_FIELD_NUMBER: _ClassVar[int]
    DETACH_FIELD_NUMBER: _ClassVar[int]
    execution_id: str
    resume_json: str
    updates_json: str
    as_node: str
    detach: bool
    def __init__(self, execution_id: _Optional[str] = ..., resume_json: _Optional[str] = ..., updates_json: _Optional[str] = ..., as_node: _Optional[str] = ..., detach: bool = ...) -> None: ...

class ControlRequest(_message.Message):
    __slots__ = ("execution_id", "timeout")
    EXECUTION_ID_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    execution_id: str
    timeout: float
    def __init__(self, execution_id: _Optional[str] = ..., timeout: _Optional[float] = ...) -> None: ...

class RollbackRequest(_message.Message):
    __slots__ = ("execution_id", "checkpoint_id")
    EXECUTION_ID_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_ID_FIELD_NUMBER: _ClassVar[int]
    execution_id: str
    checkpoint_id: str
    def __init__(self, execution_id: _Optional[str] = ..., checkpoint_id: _Optional[str] = ...) -> None: ...

class ForkRequest(_message.Message):
    __slots__ = ("execution_id", "checkpoint_id", "updates_json", "as_node")
    EXECUTION_ID_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_ID_FIELD_NUMBER: _ClassVar[int]
    UPDATES_JSON_FIELD_NUMBER: _ClassVar[int]
    AS_NODE_FIELD_NUMBER: _ClassVar[int]
    execution_id: str
    checkpoint_id: str
    updates_json: str
    as_node: str
    def __init__(self, execution_id: _Optional[str] = ..., checkpoint_id: _Optional[str] = ..., updates_json: _Optional[str] = ..., as_node: _Optional[str] = ...) -> None: ...

class UpdateStateRequest(_message.Message):
    __slots__ = ("execution_id", "values_json", "as_node")
    EXECUTION_ID_FIELD_NUMBER: _ClassVar[int]
    VALUES_JSON_FIELD_NUMBER: _ClassVar[int]
    AS_NODE_FIELD_NUMBER: _ClassVar[int]
    execution_id: str
    values_json: str
    as_node: str
    def __init__(self, execution_id: _Optional[str] = ..., values_json: _Optional[str] = ..., as_node: _Optional[str] = ...) -> None: ...

class ExecutionRef(_message.Message):
    __slots__ = ("execution_id",)
    EXECUTION_ID_FIELD_NUMBER: _ClassVar[int]
    execution_id: str
    def __init__(self, execution_id: _Optional[str] = ...) -> None: ...

class ListExecutionsRequest(_message.Message):
    __slots__ = ("project", "status", "limit", "variant_config")
    class VariantConfigEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    VARIANT_CONFIG_FIELD_NUMBER: _ClassVar[int]
    project: str
    status: ExecutionStatus
    limit: int
    variant_config: _containers.ScalarMap[str, str]
    def __init__(self, project: _Optional[str] = ..., status: _Optional[_Union[ExecutionStatus, str]] = ..., limit: _Optional[int] = ..., variant_config: _Optional[_Mapping[str, str]] = ...) -> None: ...

class ExecutionList(_message.Message):
    __slots__ = ("executions",)
    EXECUTIONS_FIELD_NUMBER: _ClassVar[int]
    executions: _containers.RepeatedCompositeFieldContainer[Execution]
    def __init__(self, executions: _Optional[_Iterable[_Union[Execution, _Mapping]]] = ...) -> None: ...

class GetStateRequest(_message.Message):
    __slots__ = ("execution_id", "checkpoint_id")
    EXECUTION_ID_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_ID_FIELD_NUMBER: _ClassVar[int]
    execution_id: str
    checkpoint_id: str
    def __init__(self, execution_id: _Optional[str] = ..., checkpoint_id: _Optional[str] = ...) -> None: ...

class StateValues(_message.Message):
    __slots__ = ("execution_id", "checkpoint_id", "values_json")
    EXECUTION_ID_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_ID_FIELD_NUMBER: _ClassVar[int]
    VALUES_JSON_FIELD_NUMBER: _ClassVar[int]
    execution_id: str
    checkpoint_id: str
    values_json: str
    def __init__(self, execution_id: _Optional[str] = ..., checkpoint_id: _Optional[str] = ..., values_json: _Optional[str] = ...) -> None: ...

class Checkpoint(_message.Message):
    __slots__ = ("checkpoint_id", "step", "nodes", "next", "created_at", "values_json", "source", "parent_checkpoint_id")
    CHECKPOINT_ID_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    NODES_FIELD_NUMBER: _ClassVar[int]
    NEXT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    VALUES_JSON_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    PARENT_CHECKPOINT_ID_FIELD_NUMBER: _ClassVar[int]
    checkpoint_id: str
    step: int
    nodes: _containers.RepeatedScalarFieldContainer[str]
    next: _containers.RepeatedScalarFieldContainer[str]
    created_at: _timestamp_pb2.Timestamp
    values_json: str
    source: str
    parent_checkpoint_id: str
    def __init__(self, checkpoint_id: _Optional[str] = ..., step: _Optional[int] = ..., nodes: _Optional[_Iterable[str]] = ..., next: _Optional[_Iterable[str]] = ..., created_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., values_json: _Optional[str] = ..., source: _Optional[str] = ..., parent_checkpoint_id: _Optional[str] = ...) -> None: ...

class GetCheckpointsRequest(_message.Message):
    __slots__ = ("execution_id", "all_branches")
    EXECUTION_ID_FIELD_NUMBER: _ClassVar[int]
    ALL_BRANCHES_FIELD_NUMBER: _ClassVar[int]
    execution_id: str
    all_branches: bool
    def __init__(self, execution_id: _Optional[str] = ..., all_branches: bool = ...) -> None: ...

class CheckpointList(_message.Message):
    __slots__ = ("checkpoints",)
    CHECKPOINTS_FIELD_NUMBER: _ClassVar[int]
    checkpoints: _containers.RepeatedCompositeFieldContainer[Checkpoint]
    def __init__(self, checkpoints: _Optional[_Iterable[_Union[Checkpoint, _Mapping]]] = ...) -> None: ...

class AuditEntry(_message.Message):
    __slots__ = ("timestamp", "event_type", "severity", "execution_id", "node", "checkpoint_id", "message", "data_json")
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_ID_FIELD_NUMBER: _ClassVar[int]
    NODE_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    DATA_JSON_FIELD_NUMBER: _ClassVar[int]
    timestamp: _timestamp_pb2.Timestamp
    event_type: str
    severity: str
    execution_id: str
    node: str
    checkpoint_id: str
    message: str
    data_json: str
    def __init__(self, timestamp: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., event_type: _Optional[str] = ..., severity: _Optional[str] = ..., execution_id: _Optional[str] = ..., node: _Optional[str] = ..., checkpoint_id: _Optional[str] = ..., message: _Optional[str] = ..., data_json: _Optional[str] = ...) -> None: ...

class AuditTrail(_message.Message):
    __slots__ = ("entries",)
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[AuditEntry]
    def __init__(self, entries: _Optional[_Iterable[_Union[AuditEntry, _Mapping]]] = ...) -> None: ...

class ListProjectsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ProjectList(_message.Message):
    __slots__ = ("names",)
    NAMES_FIELD_NUMBER: _ClassVar[int]
    names: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, names: _Optional[_Iterable[str]] = ...) -> None: ...

class VariantEntry(_message.Message):
    __slots__ = ("variants",)
    class VariantsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    VARIANTS_FIELD_NUMBER: _ClassVar[int]
    variants: _containers.ScalarMap[str, str]
    def __init__(self, variants: _Optional[_Mapping[str, str]] = ...) -> None: ...

class TestCase(_message.Message):
    __slots__ = ("inputs_json", "expected_json", "name", "metadata_json")
    INPUTS_JSON_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_JSON_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    METADATA_JSON_FIELD_NUMBER: _ClassVar[int]
    inputs_json: str
    expected_json: str
    name: str
    metadata_json: str
    def __init__(self, inputs_json: _Optional[str] = ..., expected_json: _Optional[str] = ..., name: _Optional[str] = ..., metadata_json: _Optional[str] = ...) -> None: ...

class CaseSpec(_message.Message):
    __slots__ = ("case", "inputs_json")
    CASE_FIELD_NUMBER: _ClassVar[int]
    INPUTS_JSON_FIELD_NUMBER: _ClassVar[int]
    case: TestCase
    inputs_json: str
    def __init__(self, case: _Optional[_Union[TestCase, _Mapping]] = ..., inputs_json: _Optional[str] = ...) -> None: ...

class RunBatchRequest(_message.Message):
    __slots__ = ("project", "variant_matrix", "test_cases", "evaluators", "parallelism", "runner", "repetitions", "detach")
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    VARIANT_MATRIX_FIELD_NUMBER: _ClassVar[int]
    TEST_CASES_FIELD_NUMBER: _ClassVar[int]
    EVALUATORS_FIELD_NUMBER: _ClassVar[int]
    PARALLELISM_FIELD_NUMBER: _ClassVar[int]
    RUNNER_FIELD_NUMBER: _ClassVar[int]
    REPETITIONS_FIELD_NUMBER: _ClassVar[int]
    DETACH_FIELD_NUMBER: _ClassVar[int]
    project: str
    variant_matrix: _containers.RepeatedCompositeFieldContainer[VariantEntry]
    test_cases: _containers.RepeatedCompositeFieldContainer[CaseSpec]
    evaluators: _containers.RepeatedScalarFieldContainer[str]
    parallelism: int
    runner: str
    repetitions: int
    detach: bool
    def __init__(self, project: _Optional[str] = ..., variant_matrix: _Optional[_Iterable[_Union[VariantEntry, _Mapping]]] = ..., test_cases: _Optional[_Iterable[_Union[CaseSpec, _Mapping]]] = ..., evaluators: _Optional[_Iterable[str]] = ..., parallelism: _Optional[int] = ..., runner: _Optional[str] = ..., repetitions: _Optional[int] = ..., detach: bool = ...) -> None: ...

class BatchRow(_message.Message):
    __slots__ = ("batch_id", "combination_index", "combination", "combination_label", "case_index", "case", "repetition", "execution_id", "status", "state_json", "scores", "score_errors", "duration_ms", "error", "finished_at")
    class CombinationEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class ScoresEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    class ScoreErrorsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    COMBINATION_INDEX_FIELD_NUMBER: _ClassVar[int]
    COMBINATION_FIELD_NUMBER: _ClassVar[int]
    COMBINATION_LABEL_FIELD_NUMBER: _ClassVar[int]
    CASE_INDEX_FIELD_NUMBER: _ClassVar[int]
    CASE_FIELD_NUMBER: _ClassVar[int]
    REPETITION_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    STATE_JSON_FIELD_NUMBER: _ClassVar[int]
    SCORES_FIELD_NUMBER: _ClassVar[int]
    SCORE_ERRORS_FIELD_NUMBER: _ClassVar[int]
    DURATION_MS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    batch_id: str
    combination_index: int
    combination: _containers.ScalarMap[str, str]
    combination_label: str
    case_index: int
    case: str
    repetition: int
    execution_id: str
    status: ExecutionStatus
    state_json: str
    scores: _containers.ScalarMap[str, float]
    score_errors: _containers.ScalarMap[str, str]
    duration_ms: float
    error: str
    finished_at: _timestamp_pb2.Timestamp
    def __init__(self, batch_id: _Optional[str] = ..., combination_index: _Optional[int] = ..., combination: _Optional[_Mapping[str, str]] = ..., combination_label: _Optional[str] = ..., case_index: _Optional[int] = ..., case: _Optional[str] = ..., repetition: _Optional[int] = ..., execution_id: _Optional[str] = ..., status: _Optional[_Union[ExecutionStatus, str]] = ..., state_json: _Optional[str] = ..., scores: _Optional[_Mapping[str, float]] = ..., score_errors: _Optional[_Mapping[str, str]] = ..., duration_ms: _Optional[float] = ..., error: _Optional[str] = ..., finished_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Batch(_message.Message):
    __slots__ = ("batch_id", "project", "status", "total_cells", "combinations", "results", "error", "created_at")
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_CELLS_FIELD_NUMBER: _ClassVar[int]
    COMBINATIONS_FIELD_NUMBER: _ClassVar[int]
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    batch_id: str
    project: str
    status: BatchStatus
    total_cells: int
    combinations: _containers.RepeatedCompositeFieldContainer[VariantEntry]
    results: _containers.RepeatedCompositeFieldContainer[BatchRow]
    error: str
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, batch_id: _Optional[str] = ..., project: _Optional[str] = ..., status: _Optional[_Union[BatchStatus, str]] = ..., total_cells: _Optional[int] = ..., combinations: _Optional[_Iterable[_Union[VariantEntry, _Mapping]]] = ..., results: _Optional[_Iterable[_Union[BatchRow, _Mapping]]] = ..., error: _Optional[str] = ..., created_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class BatchRef(_message.Message):
    __slots__ = ("batch_id",)
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    batch_id: str
    def __init__(self, batch_id: _Optional[str] = ...) -> None: ...

class EvaluatorNames(_message.Message):
    __slots__ = ("names",)
    NAMES_FIELD_NUMBER: _ClassVar[int]
    names: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, names: _Optional[_Iterable[str]] = ...) -> None: ...

class ResumeBatchRequest(_message.Message):
    __slots__ = ("batch_id", "evaluators", "retry_failed", "runner", "parallelism", "detach")
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    EVALUATORS_FIELD_NUMBER: _ClassVar[int]
    RETRY_FAILED_FIELD_NUMBER: _ClassVar[int]
    RUNNER_FIELD_NUMBER: _ClassVar[int]
    PARALLELISM_FIELD_NUMBER: _ClassVar[int]
    DETACH_FIELD_NUMBER: _ClassVar[int]
    batch_id: str
    evaluators: EvaluatorNames
    retry_failed: bool
    runner: str
    parallelism: int
    detach: bool
    def __init__(self, batch_id: _Optional[str] = ..., evaluators: _Optional[_Union[EvaluatorNames, _Mapping]] = ..., retry_failed: bool = ..., runner: _Optional[str] = ..., parallelism: _Optional[int] = ..., detach: bool = ...) -> None: ...

class ComparisonRequest(_message.Message):
    __slots__ = ("batch_id", "baseline_label", "baseline_entry")
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    BASELINE_LABEL_FIELD_NUMBER: _ClassVar[int]
    BASELINE_ENTRY_FIELD_NUMBER: _ClassVar[int]
    batch_id: str
    baseline_label: str
    baseline_entry: VariantEntry
    def __init__(self, batch_id: _Optional[str] = ..., baseline_label: _Optional[str] = ..., baseline_entry: _Optional[_Union[VariantEntry, _Mapping]] = ...) -> None: ...

class Comparison(_message.Message):
    __slots__ = ("comparison_json",)
    COMPARISON_JSON_FIELD_NUMBER: _ClassVar[int]
    comparison_json: str
    def __init__(self, comparison_json: _Optional[str] = ...) -> None: ...

class WatchRequest(_message.Message):
    __slots__ = ("channels", "since_seq")
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    SINCE_SEQ_FIELD_NUMBER: _ClassVar[int]
    channels: _containers.RepeatedScalarFieldContainer[str]
    since_seq: int
    def __init__(self, channels: _Optional[_Iterable[str]] = ..., since_seq: _Optional[int] = ...) -> None: ...

class Event(_message.Message):
    __slots__ = ("seq", "type", "execution_id", "batch_id", "project", "node", "checkpoint_id", "timestamp", "severity", "message", "data_json")
    SEQ_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_ID_FIELD_NUMBER: _ClassVar[int]
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    NODE_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_ID_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    DATA_JSON_FIELD_NUMBER: _ClassVar[int]
    seq: int
    type: str
    execution_id: str
    batch_id: str
    project: str
    node: str
    checkpoint_id: str
    timestamp: _timestamp_pb2.Timestamp
    severity: str
    message: str
    data_json: str
    def __init__(self, seq: _Optional[int] = ..., type: _Optional[str] = ..., execution_id: _Optional[str] = ..., batch_id: _Optional[str] = ..., project: _Optional[str] = ..., node: _Optional[str] = ..., checkpoint_id: _Optional[str] = ..., timestamp: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., severity: _Optional[str] = ..., message: _Optional[str] = ..., data_json: _Optional[str] = ...) -> None: ...
