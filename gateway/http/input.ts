// Reading JSON request bodies: typed accessors that throw `bad-request` naming the field.
import { PortcullisError } from '../util/errors.js';

export class Input {
  constructor(private readonly body: Record<string, unknown>) {}

  static from(raw: unknown): Input {
    if (raw === undefined || raw === null) return new Input({});
    if (typeof raw !== 'object' || Array.isArray(raw)) throw new PortcullisError('bad-request', 'request body must be a JSON object');
    return new Input(raw as Record<string, unknown>);
  }

  str(field: string): string {
    const v = this.body[field];
    if (typeof v !== 'string' || v.length === 0) throw new PortcullisError('bad-request', `"${field}" is required (a string)`);
    return v;
  }

  optStr(field: string): string | undefined {
    const v = this.body[field];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') throw new PortcullisError('bad-request', `"${field}" must be a string`);
    return v;
  }

  optNum(field: string): number | undefined {
    const v = this.body[field];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new PortcullisError('bad-request', `"${field}" must be a number`);
    return v;
  }

  optBool(field: string): boolean | undefined {
    const v = this.body[field];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'boolean') throw new PortcullisError('bad-request', `"${field}" must be true or false`);
    return v;
  }

  strList(field: string): string[] {
    const v = this.body[field];
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new PortcullisError('bad-request', `"${field}" must be a list of strings`);
    return v as string[];
  }

  raw(field: string): unknown {
    return this.body[field];
  }
}
