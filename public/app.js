// The presenter's page: submit a talk, then follow its feedback at /?id=<id>.
// Every piece of user or server text goes through textContent / createElement, never innerHTML.

const STRINGS = {
  en: {
    appName: 'Presentation feedback',
    skipToContent: 'Skip to content',
    switchTo: 'Deutsch',
    switchToLang: 'de',
    switchLabel: 'Auf Deutsch umschalten',
    submitHeading: 'Get feedback on your talk',
    submitLead: 'Paste your slides as Markdown or plain text, or upload a file. The feedback appears on this page; bookmark it to come back later.',
    titleLabel: 'Title',
    targetLabel: 'Target length (minutes, optional)',
    languageLabel: 'Language of the talk',
    languageAuto: 'Detect automatically',
    contentLabel: 'Your talk (Markdown or text)',
    contentHint: 'One slide per heading (# Title) or separated by a line with ---. Speaker notes: <!-- … -->, a "Note:" line or ??? — the rest of the slide.',
    fileLabel: 'Upload a .pptx, .md or .txt file',
    fileLoaded: 'Loaded {name}',
    filePptx: '{name} will be sent: its slides and speaker notes are read on the server.',
    fileTooLarge: '{name} is too large (at most {max} KB).',
    fileWrongType: '{name} is not a .pptx, .md or .txt file.',
    fileUnreadable: '{name} could not be read.',
    submit: 'Get feedback',
    submitting: 'Sending…',
    formErrorsTitle: 'Please check your input:',
    serverErrorTitle: 'The server did not accept the talk:',
    errTitleEmpty: 'Enter a title.',
    errTitleLong: 'The title is too long: {n} characters, at most {max}.',
    errContentEmpty: 'Paste your talk or upload a file.',
    errTarget: 'The target length must be a whole number of minutes from 1 to 600.',
    errNetwork: 'The server could not be reached. Check your connection and try again.',
    errHttp: 'The server answered with HTTP {status}.',
    newTalk: '← Submit another talk',
    submittedAt: 'Submitted {date}',
    statusLoading: 'Loading…',
    statusPending: 'Waiting for a free slot…',
    statusRetryWaiting: 'Attempt {n} failed; trying again shortly…',
    statusProcessing: 'Generating feedback (attempt {n})…',
    statusDone: 'Feedback is ready.',
    statusFailed: 'Feedback could not be generated.',
    statusNewPending: 'New feedback requested; showing the previous one meanwhile.',
    statusOffline: 'Connection lost; trying again…',
    notFoundTitle: 'Presentation not found',
    notFound: 'No presentation with this link exists. Check the link, or submit your talk again.',
    failureTitle: 'Feedback failed after {n} attempts.',
    failureTitleOne: 'Feedback failed after 1 attempt.',
    failureUnknown: 'No reason was given.',
    retry: 'Request new feedback',
    retrying: 'Requesting…',
    scoreHeading: 'Score',
    scoreText: '{score} / 100',
    strengthsHeading: 'Strengths',
    improvementsHeading: 'Improvements',
    metricsHeading: 'Metrics',
    slidesHeading: 'Slide by slide',
    none: 'None.',
    noNotes: 'No notes for this slide.',
    slideLabel: 'Slide {index}',
    untitled: '(untitled)',
    mSlides: 'Slides',
    mWords: 'Words',
    mWordsPerSlideMax: 'Most words on one slide',
    mMinutes: 'Estimated length',
    mMinutesValue: '{est} min',
    mMinutesSpoken: '{est} min of speaker notes',
    mMinutesRange: '{low}–{high} min, from the slide count',
    mTarget: 'target {target} min',
    mOverTarget: 'over the target of {target} min',
    mReadability: 'Readability',
    provider: 'Feedback by {provider}',
    providerModel: 'Feedback by {provider} ({model})',
  },
  de: {
    appName: 'Feedback zur Präsentation',
    skipToContent: 'Zum Inhalt springen',
    switchTo: 'English',
    switchToLang: 'en',
    switchLabel: 'Switch to English',
    submitHeading: 'Feedback zu Ihrem Vortrag',
    submitLead: 'Fügen Sie Ihre Folien als Markdown oder Text ein oder laden Sie eine Datei hoch. Das Feedback erscheint auf dieser Seite; setzen Sie ein Lesezeichen, um später zurückzukommen.',
    titleLabel: 'Titel',
    targetLabel: 'Ziellänge (Minuten, optional)',
    languageLabel: 'Sprache des Vortrags',
    languageAuto: 'Automatisch erkennen',
    contentLabel: 'Ihr Vortrag (Markdown oder Text)',
    contentHint: 'Eine Folie pro Überschrift (# Titel) oder getrennt durch eine Zeile mit ---. Sprechernotizen: <!-- … -->, eine Zeile „Note:“ oder ??? – der Rest der Folie.',
    fileLabel: '.pptx-, .md- oder .txt-Datei hochladen',
    fileLoaded: '{name} geladen',
    filePptx: '{name} wird gesendet: Folien und Sprechernotizen werden auf dem Server gelesen.',
    fileTooLarge: '{name} ist zu groß (höchstens {max} KB).',
    fileWrongType: '{name} ist keine .pptx-, .md- oder .txt-Datei.',
    fileUnreadable: '{name} konnte nicht gelesen werden.',
    submit: 'Feedback anfordern',
    submitting: 'Wird gesendet…',
    formErrorsTitle: 'Bitte prüfen Sie Ihre Eingaben:',
    serverErrorTitle: 'Der Server hat den Vortrag nicht angenommen:',
    errTitleEmpty: 'Geben Sie einen Titel ein.',
    errTitleLong: 'Der Titel ist zu lang: {n} Zeichen, höchstens {max}.',
    errContentEmpty: 'Fügen Sie Ihren Vortrag ein oder laden Sie eine Datei hoch.',
    errTarget: 'Die Ziellänge muss eine ganze Zahl von 1 bis 600 Minuten sein.',
    errNetwork: 'Der Server ist nicht erreichbar. Prüfen Sie die Verbindung und versuchen Sie es erneut.',
    errHttp: 'Der Server antwortete mit HTTP {status}.',
    newTalk: '← Weiteren Vortrag einreichen',
    submittedAt: 'Eingereicht am {date}',
    statusLoading: 'Wird geladen…',
    statusPending: 'Wartet auf einen freien Platz…',
    statusRetryWaiting: 'Versuch {n} ist fehlgeschlagen; gleich neuer Versuch…',
    statusProcessing: 'Feedback wird erstellt (Versuch {n})…',
    statusDone: 'Das Feedback ist fertig.',
    statusFailed: 'Das Feedback konnte nicht erstellt werden.',
    statusNewPending: 'Neues Feedback angefordert; bis dahin sehen Sie das bisherige.',
    statusOffline: 'Verbindung unterbrochen; neuer Versuch…',
    notFoundTitle: 'Präsentation nicht gefunden',
    notFound: 'Zu diesem Link gibt es keine Präsentation. Prüfen Sie den Link oder reichen Sie Ihren Vortrag erneut ein.',
    failureTitle: 'Das Feedback ist nach {n} Versuchen fehlgeschlagen.',
    failureTitleOne: 'Das Feedback ist nach 1 Versuch fehlgeschlagen.',
    failureUnknown: 'Es wurde kein Grund genannt.',
    retry: 'Neues Feedback anfordern',
    retrying: 'Wird angefordert…',
    scoreHeading: 'Bewertung',
    scoreText: '{score} / 100',
    strengthsHeading: 'Stärken',
    improvementsHeading: 'Verbesserungen',
    metricsHeading: 'Kennzahlen',
    slidesHeading: 'Folie für Folie',
    none: 'Keine.',
    noNotes: 'Keine Hinweise zu dieser Folie.',
    slideLabel: 'Folie {index}',
    untitled: '(ohne Titel)',
    mSlides: 'Folien',
    mWords: 'Wörter',
    mWordsPerSlideMax: 'Meiste Wörter auf einer Folie',
    mMinutes: 'Geschätzte Länge',
    mMinutesValue: '{est} Min.',
    mMinutesSpoken: '{est} Min. Sprechernotizen',
    mMinutesRange: '{low}–{high} Min., aus der Folienzahl',
    mTarget: 'Ziel {target} Min.',
    mOverTarget: 'über dem Ziel von {target} Min.',
    mReadability: 'Lesbarkeit',
    provider: 'Feedback von {provider}',
    providerModel: 'Feedback von {provider} ({model})',
  },
};

const TITLE_MAX = 200;
const FILE_MAX_BYTES = 512 * 1024;
// The server's .pptx limit (src/feedback/pptx/limits.ts).
const PPTX_MAX_BYTES = 20 * 1024 * 1024;
const PPTX_TYPE = 'application/vnd.openxmlformats-officedocument.presentationml.presentation';
const POLL_FIRST_MS = 1000;
const POLL_MAX_MS = 5000;
const LANG_KEY = 'presenter.lang';

const $ = (id) => document.getElementById(id);

const state = {
  lang: initialLanguage(),
  view: 'form',
  presentation: null,
  notFound: false,
  offline: false,
  // Bumped on every navigation so a poll that was in flight cannot paint over a newer view.
  generation: 0,
  pollTimer: undefined,
  // A chosen .pptx, sent as multipart on submit (the browser cannot read one into the textarea).
  deck: null,
};

function initialLanguage() {
  try {
    const saved = localStorage.getItem(LANG_KEY);
    if (saved === 'de' || saved === 'en') return saved;
  } catch {
    // storage disabled: fall back to the browser's language
  }
  return /^de\b/i.test(navigator.language || '') ? 'de' : 'en';
}

function t(key, vars = {}) {
  const template = STRINGS[state.lang][key] ?? STRINGS.en[key] ?? key;
  return template.replace(/\{(\w+)\}/g, (_, name) => String(vars[name] ?? ''));
}

function formatNumber(value, digits = 0) {
  if (typeof value !== 'number' || !Number.isFinite(value)) return '–';
  return value.toLocaleString(state.lang, { maximumFractionDigits: digits });
}

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

function fillList(list, items, emptyText) {
  list.replaceChildren();
  const texts = Array.isArray(items) ? items.filter((item) => typeof item === 'string' && item.trim() !== '') : [];
  if (texts.length === 0) {
    list.append(el('li', emptyText, 'empty'));
    return;
  }
  for (const text of texts) list.append(el('li', text));
}

// ---- language -------------------------------------------------------------------------------

function applyLanguage() {
  document.documentElement.lang = state.lang;
  for (const node of document.querySelectorAll('[data-i18n]')) node.textContent = t(node.dataset.i18n);
  const toggle = $('lang-toggle');
  toggle.textContent = t('switchTo');
  toggle.lang = t('switchToLang');
  toggle.setAttribute('aria-label', t('switchLabel'));
  render();
}

function toggleLanguage() {
  state.lang = state.lang === 'de' ? 'en' : 'de';
  try {
    localStorage.setItem(LANG_KEY, state.lang);
  } catch {
    // not persisted; the toggle still works for this page
  }
  applyLanguage();
  refreshFormErrors();
}

// ---- form -----------------------------------------------------------------------------------

// Errors are kept as keys + values so a language switch re-renders them in the new language.
let formErrors = { titleKey: null, items: [] };

function showFormErrors(titleKey, items) {
  formErrors = { titleKey, items };
  refreshFormErrors();
}

function refreshFormErrors() {
  const box = $('form-errors');
  if (!formErrors.titleKey) {
    box.hidden = true;
    return;
  }
  $('form-errors-title').textContent = t(formErrors.titleKey);
  const list = $('form-errors-list');
  list.replaceChildren();
  for (const item of formErrors.items) list.append(el('li', item.key ? t(item.key, item.vars) : item.text));
  box.hidden = false;
}

function clearFormErrors() {
  formErrors = { titleKey: null, items: [] };
  for (const id of ['title', 'content', 'targetMinutes']) $(id).removeAttribute('aria-invalid');
  refreshFormErrors();
}

function validate(values) {
  const problems = [];
  // A deck names itself: its first slide title is used when the title is left empty.
  if (values.title === '' && !state.deck) problems.push({ field: 'title', key: 'errTitleEmpty' });
  else if (values.title.length > TITLE_MAX) problems.push({ field: 'title', key: 'errTitleLong', vars: { n: values.title.length, max: TITLE_MAX } });
  if (values.targetRaw !== '') {
    const minutes = Number(values.targetRaw);
    if (!Number.isInteger(minutes) || minutes < 1 || minutes > 600) problems.push({ field: 'targetMinutes', key: 'errTarget' });
  } else if (!$('targetMinutes').validity.valid) {
    // a number input holding text reports an empty value but a bad-input validity
    problems.push({ field: 'targetMinutes', key: 'errTarget' });
  }
  if (values.content.trim() === '' && !state.deck) problems.push({ field: 'content', key: 'errContentEmpty' });
  return problems;
}

// The API answers {"error":{"code","message"}}; anything else still gets a readable message.
async function errorMessageOf(response) {
  try {
    const body = await response.json();
    const message = body?.error?.message ?? body?.message;
    if (typeof message === 'string' && message !== '') return { text: message };
  } catch {
    // not JSON
  }
  return { key: 'errHttp', vars: { status: response.status } };
}

async function onSubmit(event) {
  event.preventDefault();
  clearFormErrors();
  const values = {
    title: $('title').value.trim(),
    content: $('content').value,
    language: $('language').value,
    targetRaw: $('targetMinutes').value.trim(),
  };
  const problems = validate(values);
  if (problems.length > 0) {
    for (const problem of problems) $(problem.field).setAttribute('aria-invalid', 'true');
    showFormErrors('formErrorsTitle', problems);
    $(problems[0].field).focus();
    return;
  }

  const body = { title: values.title, content: values.content, language: values.language };
  if (values.targetRaw !== '') body.targetMinutes = Number(values.targetRaw);
  let request = { headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify(body) };
  if (state.deck) {
    // multipart: the browser sets the content type with its boundary
    const form = new FormData();
    if (values.title !== '') form.set('title', values.title);
    form.set('language', values.language);
    if (values.targetRaw !== '') form.set('targetMinutes', values.targetRaw);
    form.set('file', state.deck, state.deck.name);
    request = { headers: { accept: 'application/json' }, body: form };
  }

  const button = $('submit');
  button.disabled = true;
  button.dataset.i18n = 'submitting';
  button.textContent = t('submitting');
  try {
    let response;
    try {
      response = await fetch('/api/presentations', { method: 'POST', ...request });
    } catch {
      showFormErrors('serverErrorTitle', [{ key: 'errNetwork' }]);
      return;
    }
    if (response.status !== 201 && response.status !== 200) {
      showFormErrors('serverErrorTitle', [await errorMessageOf(response)]);
      return;
    }
    const created = await response.json();
    history.pushState({ id: created.id }, '', pageUrl(created.id));
    $('talk-form').reset();
    $('file-name').textContent = '';
    state.deck = null;
    showPresentation(created.id, { title: values.title, status: created.status ?? 'pending', attempts: 0, feedback: null }, { focus: true });
  } finally {
    button.disabled = false;
    button.dataset.i18n = 'submit';
    button.textContent = t('submit');
  }
}

function onFileChosen() {
  const input = $('file');
  const file = input.files?.[0];
  const label = $('file-name');
  if (!file) {
    label.textContent = '';
    return;
  }
  clearFormErrors();
  if (/\.pptx$/i.test(file.name) || file.type === PPTX_TYPE) {
    if (file.size > PPTX_MAX_BYTES) {
      showFormErrors('formErrorsTitle', [{ key: 'fileTooLarge', vars: { name: file.name, max: PPTX_MAX_BYTES / 1024 } }]);
      input.value = '';
      label.textContent = '';
      return;
    }
    state.deck = file;
    label.textContent = t('filePptx', { name: file.name });
    return;
  }
  if (!/\.(md|markdown|txt)$/i.test(file.name)) {
    showFormErrors('formErrorsTitle', [{ key: 'fileWrongType', vars: { name: file.name } }]);
    input.value = '';
    label.textContent = '';
    return;
  }
  if (file.size > FILE_MAX_BYTES) {
    showFormErrors('formErrorsTitle', [{ key: 'fileTooLarge', vars: { name: file.name, max: FILE_MAX_BYTES / 1024 } }]);
    input.value = '';
    label.textContent = '';
    return;
  }
  const reader = new FileReader();
  reader.addEventListener('load', () => {
    state.deck = null;
    const text = String(reader.result ?? '');
    $('content').value = text;
    label.textContent = t('fileLoaded', { name: file.name });
    const title = $('title');
    if (title.value.trim() === '') {
      const heading = /^#\s+(.+)$/m.exec(text);
      title.value = heading ? heading[1].trim().slice(0, TITLE_MAX) : file.name.replace(/\.(md|markdown|txt)$/i, '');
    }
  });
  reader.addEventListener('error', () => {
    showFormErrors('formErrorsTitle', [{ key: 'fileUnreadable', vars: { name: file.name } }]);
    label.textContent = '';
  });
  reader.readAsText(file);
}

// ---- navigation -----------------------------------------------------------------------------

function pageUrl(id) {
  return `/?id=${encodeURIComponent(id)}`;
}

function idFromLocation() {
  const id = new URLSearchParams(location.search).get('id');
  return id && id.trim() !== '' ? id.trim() : null;
}

function stopPolling() {
  state.generation += 1;
  clearTimeout(state.pollTimer);
  state.pollTimer = undefined;
}

function route() {
  stopPolling();
  const id = idFromLocation();
  if (id) showPresentation(id, null);
  else showForm();
}

function showForm() {
  state.view = 'form';
  state.presentation = null;
  state.notFound = false;
  render();
}

function showPresentation(id, initial, { focus = false } = {}) {
  stopPolling();
  state.view = 'presentation';
  state.presentation = initial ? { id, ...initial } : { id, loading: true };
  state.notFound = false;
  state.offline = false;
  render();
  if (focus) $('main').focus();
  poll(id, state.generation, initial ? POLL_FIRST_MS : 0);
}

function poll(id, generation, delay) {
  state.pollTimer = setTimeout(async () => {
    let next = Math.min(Math.max(delay, POLL_FIRST_MS) * 1.5, POLL_MAX_MS);
    try {
      const response = await fetch(`/api/presentations/${encodeURIComponent(id)}`, { headers: { accept: 'application/json' }, cache: 'no-store' });
      if (generation !== state.generation) return;
      if (response.status === 404) {
        state.notFound = true;
        render();
        return;
      }
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const presentation = await response.json();
      if (generation !== state.generation) return;
      const previous = state.presentation;
      state.presentation = presentation;
      state.offline = false;
      render();
      if (presentation.status === 'done' || presentation.status === 'failed') return;
      // A status change means the job moved on: look again soon.
      if (previous && previous.status !== presentation.status) next = POLL_FIRST_MS;
    } catch {
      if (generation !== state.generation) return;
      state.offline = true;
      render();
    }
    poll(id, generation, next);
  }, delay);
}

async function requestNewFeedback() {
  const presentation = state.presentation;
  if (!presentation) return;
  const button = $('retry');
  button.disabled = true;
  button.dataset.i18n = 'retrying';
  button.textContent = t('retrying');
  let failure = null;
  try {
    const response = await fetch(`/api/presentations/${encodeURIComponent(presentation.id)}/feedback`, { method: 'POST', headers: { accept: 'application/json' } });
    if (!response.ok) failure = await errorMessageOf(response);
  } catch {
    failure = { key: 'errNetwork' };
  } finally {
    button.disabled = false;
    button.dataset.i18n = 'retry';
    button.textContent = t('retry');
  }
  if (failure) {
    $('failure-message').textContent = failure.key ? t(failure.key, failure.vars) : failure.text;
    return;
  }
  showPresentation(presentation.id, { ...presentation, status: 'pending', error: undefined }, { focus: true });
}

// ---- rendering ------------------------------------------------------------------------------

function render() {
  const inForm = state.view === 'form';
  $('submit-view').hidden = !inForm;
  $('result-view').hidden = inForm;
  if (inForm) {
    document.title = t('appName');
    return;
  }
  renderPresentation();
}

function statusText(p) {
  if (state.notFound) return t('notFound');
  if (!p || p.loading) return t('statusLoading');
  const attempts = Number.isInteger(p.attempts) ? p.attempts : 0;
  switch (p.status) {
    case 'pending':
      if (p.feedback) return t('statusNewPending');
      return attempts > 0 ? t('statusRetryWaiting', { n: attempts }) : t('statusPending');
    case 'processing':
      return t('statusProcessing', { n: Math.max(attempts, 1) });
    case 'done':
      return t('statusDone');
    case 'failed':
      return t('statusFailed');
    default:
      return String(p.status ?? '');
  }
}

function renderPresentation() {
  const p = state.presentation;
  const title = state.notFound ? t('notFoundTitle') : p?.title || (p?.loading ? t('statusLoading') : t('untitled'));
  $('result-title').textContent = title;
  document.title = `${title} – ${t('appName')}`;

  const created = p?.createdAt ? new Date(p.createdAt) : null;
  $('result-meta').textContent = created && !Number.isNaN(created.getTime())
    ? t('submittedAt', { date: created.toLocaleString(state.lang, { dateStyle: 'medium', timeStyle: 'short' }) })
    : '';

  const busy = !state.notFound && (!p || p.loading || p.status === 'pending' || p.status === 'processing');
  const text = state.offline ? t('statusOffline') : statusText(p);
  const statusNode = $('status-text');
  if (statusNode.textContent !== text) statusNode.textContent = text;
  $('spinner').hidden = !busy;
  const failed = !state.notFound && p?.status === 'failed';
  $('status').classList.toggle('status-error', state.notFound);
  // The failure box below says it in full; the live region still announces the change.
  $('status').classList.toggle('visually-hidden', failed);

  $('failure').hidden = !failed;
  if (failed) {
    // A non-retryable error (e.g. a refused API key) fails after the first attempt.
    const attempts = Number.isInteger(p.attempts) && p.attempts > 0 ? p.attempts : 1;
    $('failure-title').textContent = attempts === 1 ? t('failureTitleOne') : t('failureTitle', { n: attempts });
    $('failure-message').textContent = typeof p.error === 'string' && p.error !== '' ? p.error : p.error?.message || t('failureUnknown');
  }

  const feedback = !state.notFound && p?.feedback && typeof p.feedback === 'object' ? p.feedback : null;
  $('feedback').hidden = !feedback;
  if (feedback) renderFeedback(feedback);
}

function renderFeedback(f) {
  // The feedback is written in the talk's language, which may differ from the interface's.
  for (const id of ['summary', 'strengths', 'improvements', 'slides']) {
    if (f.language === 'de' || f.language === 'en') $(id).lang = f.language;
  }
  const score = Math.max(0, Math.min(100, Number(f.score) || 0));
  $('score-meter').value = score;
  $('score-text').textContent = t('scoreText', { score: formatNumber(score) });
  $('summary').textContent = typeof f.summary === 'string' ? f.summary : '';
  fillList($('strengths'), f.strengths, t('none'));
  fillList($('improvements'), f.improvements, t('none'));

  const m = f.metrics ?? {};
  const hasTarget = typeof m.targetMinutes === 'number';
  // Without notes the estimate is a range: over the target only when even its low end is.
  const estimate = Array.isArray(m.estimatedMinutesRange) ? m.estimatedMinutesRange[0] : m.estimatedMinutes;
  const overTarget = hasTarget && typeof estimate === 'number' && estimate > m.targetMinutes * 1.1;
  const rows = [
    ['mSlides', formatNumber(m.slides)],
    ['mWords', formatNumber(m.words)],
    ['mMinutes', minutesText(m), hasTarget ? t(overTarget ? 'mOverTarget' : 'mTarget', { target: formatNumber(m.targetMinutes, 1) }) : '', overTarget],
    ['mWordsPerSlideMax', formatNumber(m.wordsPerSlideMax)],
    ['mReadability', formatNumber(m.readability, 1)],
  ];
  const metrics = $('metrics');
  metrics.replaceChildren();
  for (const [key, value, sub, warn] of rows) {
    const row = el('div', undefined, warn ? 'metric metric-warn' : 'metric');
    const dd = el('dd', value);
    if (sub) dd.append(el('span', sub, 'metric-sub'));
    row.append(el('dt', t(key)), dd);
    metrics.append(row);
  }

  const slides = $('slides');
  slides.replaceChildren();
  for (const slide of Array.isArray(f.slides) ? f.slides : []) {
    const item = el('li', undefined, 'slide');
    const heading = el('h3');
    heading.append(el('span', t('slideLabel', { index: slide?.index ?? '?' }), 'slide-index'), el('span', slide?.title || t('untitled'), 'slide-title'));
    const notes = el('ul');
    fillList(notes, slide?.notes, t('noNotes'));
    item.append(heading, notes);
    slides.append(item);
  }

  $('provider').textContent = f.model ? t('providerModel', { provider: f.provider, model: f.model }) : f.provider ? t('provider', { provider: f.provider }) : '';
}

// The length as the analyser estimated it: spoken notes, or a range from the slide count.
function minutesText(m) {
  const range = Array.isArray(m.estimatedMinutesRange) ? m.estimatedMinutesRange : null;
  if (range) return t('mMinutesRange', { low: formatNumber(range[0], 1), high: formatNumber(range[1], 1) });
  return t(m.timeBasis === 'notes' ? 'mMinutesSpoken' : 'mMinutesValue', { est: formatNumber(m.estimatedMinutes, 1) });
}

// ---- start ----------------------------------------------------------------------------------

function start() {
  $('lang-toggle').addEventListener('click', toggleLanguage);
  $('talk-form').addEventListener('submit', onSubmit);
  $('file').addEventListener('change', onFileChosen);
  // Typing a talk replaces a chosen deck: what is sent is what the form shows.
  $('content').addEventListener('input', () => {
    if (!state.deck) return;
    state.deck = null;
    $('file').value = '';
    $('file-name').textContent = '';
  });
  $('retry').addEventListener('click', requestNewFeedback);
  for (const link of [$('new-talk'), $('home-link')]) {
    link.addEventListener('click', (event) => {
      if (event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
      event.preventDefault();
      if (location.pathname !== '/' || location.search !== '') history.pushState({}, '', '/');
      route();
      $('title').focus();
    });
  }
  window.addEventListener('popstate', route);
  applyLanguage();
  route();
}

start();
