// A fake OpenAI-compatible chat-completions server (a real HTTP server on loopback).
// `behave(call)` decides each answer: call = { n, url, body, text } where text is the user message.
import { createServer } from 'node:http';

export function feedbackJson(overrides = {}) {
  return {
    language: 'en',
    score: 77,
    summary: 'A clear talk.',
    strengths: ['Clear structure'],
    improvements: ['Slide 2 is long: split it.'],
    slides: [{ index: 1, title: 'Intro', notes: ['Good opening'] }],
    ...overrides,
  };
}

export function completion(content, model = 'fake-model') {
  return { id: 'chatcmpl-1', object: 'chat.completion', model, choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }] };
}

export async function startFakeOpenAI(t, behave) {
  const calls = [];
  const sockets = new Set();
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', async () => {
      const body = raw ? JSON.parse(raw) : {};
      const text = (body.messages ?? []).map((m) => m.content).join('\n');
      const call = { n: calls.length + 1, url: req.url, body, text, auth: req.headers.authorization, at: Date.now() };
      calls.push(call);
      const answer = await behave(call);
      if (answer === 'hang') return; // never answers
      res.writeHead(answer.status ?? 200, { 'content-type': 'application/json', ...(answer.headers ?? {}) });
      res.end(typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body));
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  t.after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  });
  return { url: `http://127.0.0.1:${server.address().port}/v1`, calls };
}
