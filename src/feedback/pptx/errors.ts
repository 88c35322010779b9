// A .pptx the server will not read: a 4xx status, a stable code and a message with the fix.
export class PptxError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'PptxError';
  }
}
