'use strict';
// The demo page: send a photo's bytes to /invocations, as the API does, and show the answer.
// No framework and nothing from elsewhere: the page must work offline under CSP 'self'.

const $ = (id) => document.getElementById(id);
const statusLine = $('status');
const input = $('photo');
const drop = $('drop');
const result = $('result');
const errorBox = $('error');

/** Sentences for the server's error codes; the JSON error's own message is the fallback. */
const SENTENCES = {
  unsupported_media_type: (file) =>
    `That file is not a photo the server can read (it was sent as ${file.type || 'an unknown type'}). ` +
    'Choose a JPEG, PNG, WebP, GIF, TIFF, AVIF or HEIF image.',
  payload_too_large: () => 'That file is too large for the server. Choose a smaller photo, or resize it first.',
  invalid_image: () => 'That file could not be read as an image: it may be broken or incomplete.',
  image_too_large: () => 'That photo has more pixels than the server accepts. Resize it and try again.',
  empty_body: () => 'That file is empty.',
  overloaded: () => 'The server is busy right now. Try again in a moment.',
  unavailable: () => 'The model is not ready yet. Try again in a moment.',
  model_not_ready: () => 'The model is not ready yet. Try again in a moment.',
  timeout: () => 'The server took too long to answer. Try a smaller photo.',
};

function sentenceFor(error, file) {
  const known = error && SENTENCES[error.code];
  if (known) return known(file);
  return error && error.message
    ? `The server could not classify this photo: ${error.message}`
    : 'The server could not classify this photo.';
}

function setStatus(state, text) {
  statusLine.className = state;
  statusLine.textContent = text;
}

function showError(text) {
  result.hidden = true;
  errorBox.textContent = text;
  errorBox.hidden = false;
}

const percent = (p) => `${(100 * p).toFixed(p >= 0.995 || p < 0.001 ? 0 : 1)}%`;

function showPrediction(file, prediction, ms) {
  errorBox.hidden = true;
  const preview = $('preview');
  if (preview.src) URL.revokeObjectURL(preview.src);
  preview.src = URL.createObjectURL(file);
  $('class').textContent = prediction.class;
  const bars = $('bars');
  bars.replaceChildren();
  const ranked = Object.entries(prediction.probabilities).sort((a, b) => b[1] - a[1]);
  for (const [label, probability] of ranked) {
    const row = document.createElement('li');
    row.className = 'bar-row';
    const name = document.createElement('span');
    name.className = 'bar-name';
    name.textContent = label;
    const meter = document.createElement('meter');
    meter.min = 0;
    meter.max = 1;
    meter.value = probability;
    meter.setAttribute('aria-label', `${label}: ${percent(probability)}`);
    const value = document.createElement('span');
    value.className = 'bar-value';
    value.textContent = percent(probability);
    row.append(name, meter, value);
    bars.append(row);
  }
  $('latency').textContent = `Answered in ${ms} ms.`;
  result.hidden = false;
}

async function classify(file) {
  if (!file) return;
  setStatus('busy', `Classifying ${file.name || 'the photo'}…`);
  const started = performance.now();
  let response;
  try {
    response = await fetch('/invocations', {
      method: 'POST',
      body: file,
      headers: { 'Content-Type': file.type || 'application/octet-stream', Accept: 'application/json' },
    });
  } catch {
    setStatus('ready', 'Choose another photo.');
    showError('The server could not be reached. Is it still running?');
    return;
  }
  const ms = Math.round(performance.now() - started);
  const body = await response.json().catch(() => null);
  setStatus('ready', 'Choose another photo, or drop one.');
  if (response.ok && body && body.predictions) showPrediction(file, body.predictions, ms);
  else showError(sentenceFor(body && body.error, file));
}

/** /ping until the model is ready: 503 while the workers load, 200 once one can answer. */
async function waitUntilReady() {
  for (;;) {
    try {
      const response = await fetch('/ping', { cache: 'no-store' });
      if (response.ok) {
        setStatus('ready', 'The model is ready. Choose a photo, or drop one.');
        return;
      }
      const body = await response.json().catch(() => ({}));
      if (body.status === 'failed') {
        setStatus('failed', `The model could not be loaded: ${body.reason || 'see the server log'}.`);
        return;
      }
      setStatus('loading', 'The model is still loading…');
    } catch {
      setStatus('loading', 'Waiting for the server…');
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

input.addEventListener('change', () => {
  void classify(input.files[0]);
  input.value = '';
});
drop.addEventListener('dragover', (event) => {
  event.preventDefault();
  drop.classList.add('over');
});
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (event) => {
  event.preventDefault();
  drop.classList.remove('over');
  void classify(event.dataTransfer.files[0]);
});

void waitUntilReady();
