/**
 * The library behind the `batch` CLI. Everything the commands do is available here, so batches
 * can be driven from code: read prompts, open backends or managed servers, run the worker pool
 * over a checkpoint store, and plan hardware.
 */
export * from './errors.js';
export type { PromptItem, PromptRecord, InvalidPrompt, PromptEndpoint } from './prompts/prompt-item.js';
export { readPrompts, type ReadPromptsOptions, type TemplateInputs } from './prompts/read-prompts.js';
export type { RowData } from './prompts/row-data.js';
export type { Backend, CompletionRequest, CompletionResult, EndpointInfo, ServerType } from './backends/backend.js';
export { openBackend } from './backends/open-backend.js';
export type { ItemOutcome } from './store/item-outcome.js';
export { CheckpointStore } from './store/checkpoint-store.js';
export { JobReader } from './store/job-reader.js';
export { writeOutput } from './output/write-output.js';
export { BatchScheduler, type WorkSource, type ResultSink, type SchedulerListener, type SchedulerSummary } from './scheduler/batch-scheduler.js';
export { RetryPolicy, type RetryPolicyOptions } from './scheduler/retry-policy.js';
export { StaticRouter, type StaticEndpoint, type StaticRouterOptions } from './app/routing/static-router.js';
export { EndpointHealth, type EndpointHealthOptions } from './app/routing/endpoint-health.js';
export type { FleetListener } from './scheduler/fleet-listener.js';
export type { Router, RouteLease, RouteOutcome, ReleaseVerdict, AcquireOptions, ModelLoadStats } from './scheduler/router.js';
export { parseServersFile, type FleetServer } from './app/routing/parse-servers-file.js';
export { jsonAnswerCheck, type AnswerCheck, type JsonAnswerCheckOptions } from './scheduler/answer-check.js';
export { validateAnswer, type CheckedAnswer } from './backends/validate-answer.js';
export { readAnswerShape, jsonSchemaResponseFormat, type AnswerShape } from './backends/answer-shape.js';
export { loadJsonSchemaFile, type LoadedJsonSchema } from './prompts/load-json-schema.js';
export { runJob, type RunJobOptions, type RunJobContext } from './app/run/run-job.js';
export { dryRun, type DryRunContext } from './app/run/dry-run.js';
export type { DryRunReport, DryRunModel } from './reporting/dry-run-report.js';
export { settingsTable, settingRowsOf, settingDefaults, type SettingRow, type Settings, type GivenSettings, type CommandName } from './app/settings/settings-table.js';
export { resolveRunSettings, type RunSettings } from './app/settings/resolve-run-settings.js';
export { jobConfigOf, parseJobConfig, type JobConfig } from './app/job/job-config.js';
export { openModelPool, type ManagedServerSettings } from './app/routing/open-model-pool.js';
export { openRouter, type RouterSettings } from './app/routing/open-router.js';
export { measureManagedServer } from './app/run/measure-managed-server.js';
export { apiKeyFor } from './app/settings/api-key.js';
export type { RunSummary } from './reporting/run-summary.js';
export { startRunTelemetry, type RunTelemetry, type RunTelemetryOptions } from './reporting/run-telemetry.js';
export { RunSampler, type RunSamplerOptions } from './reporting/run-sampler.js';
export type { PromptMetric, SampleMetric } from './reporting/metric-lines.js';
export type { RunSample, SampledGpu } from './store/run-sample.js';
export { GpuUsageReader, parseGpuUsage, type GpuUsage } from './hardware/query-gpu-usage.js';
export { readGgufInfo } from './models/gguf-reader.js';
export { writeTinyLlamaGguf } from './models/gguf-writer.js';
export { probeHardware } from './hardware/probe.js';
export { parseHardwareProfile } from './hardware/parse-hardware-profile.js';
export { profileModel } from './hardware/model-profile.js';
export { advise } from './hardware/advise.js';
export { measureConcurrency } from './hardware/measure-concurrency.js';
export { renderCurveSvg } from './hardware/render-curve-svg.js';
export { loadAdvice, saveAdvice, findAdviceFor, type SavedAdvice } from './hardware/saved-advice.js';
export { machineIdentity } from './hardware/machine-identity.js';
export type { HardwareSummary } from './hardware/hardware-summary.js';
export type { OptimizationPlan } from './hardware/optimization-plan.js';
export { ModelPool } from './servers/model-pool.js';
export { ModelCatalog } from './servers/model-catalog.js';
export { ManagedServer } from './servers/managed-server.js';
export { startEmbeddedServer } from './embedded/embedded-server.js';
export { PromptTokenCounter } from './embedded/prompt-token-counter.js';
