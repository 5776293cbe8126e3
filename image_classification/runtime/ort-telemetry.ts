/**
 * ONNX Runtime's official Linux builds report process, session and model events to Microsoft
 * (1DS, over HTTPS), keep a device id and an event database under
 * ~/.cache/Microsoft/DeveloperTools/.onnxruntime and leave files in TMPDIR, unless
 * ORT_DISABLE_TELEMETRY=1 is in the process's environment when it initialises. An inference
 * server sends nothing its operator did not ask for: this package keeps it off unless
 * ORT_DISABLE_TELEMETRY says otherwise (`0` allows it; docs/configuration.md).
 */
export function keepOrtTelemetryOff(): void {
  // Only the main thread's process.env is the process's environment, which ONNX Runtime reads:
  // a worker thread's is a copy, so the main thread calls this before it starts one.
  process.env.ORT_DISABLE_TELEMETRY ??= '1';
}
