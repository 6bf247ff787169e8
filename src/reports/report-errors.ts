/**
 * A report request the data cannot answer as asked: a 4xx with a stable error id, like the
 * other HTTP errors (see the README's HTTP section).
 */
export class ReportError extends Error {
  readonly status: number;
  readonly errorId: string;

  constructor(status: number, errorId: string, message: string) {
    super(message);
    this.status = status;
    this.errorId = errorId;
    this.name = 'ReportError';
  }
}
