import { keepOrtTelemetryOff } from './ort-telemetry';

// onnxruntime-node for every module of this package: the one place it is loaded, so that its
// telemetry is off before it starts (on the main thread; the inference thread's starter does
// the same before starting it).
keepOrtTelemetryOff();

import * as ort from 'onnxruntime-node';

export { ort };
