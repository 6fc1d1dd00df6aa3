import { BlockList, isIP } from 'node:net';
import { ConfigurationError } from './errors.js';

/** An allowlist of IPv4 and IPv6 ranges in CIDR notation. */
export class SourceAllowlist {
  private readonly list = new BlockList();

  /** Throws {@link ConfigurationError} naming the first malformed range. */
  constructor(readonly ranges: readonly string[]) {
    for (const range of ranges) {
      const [address = '', prefixText, ...rest] = range.trim().split('/');
      const family = isIP(address);
      const max = family === 4 ? 32 : 128;
      const prefix = prefixText === undefined ? max : Number(prefixText);
      if (
        family === 0 ||
        rest.length > 0 ||
        !Number.isInteger(prefix) ||
        prefix < 0 ||
        prefix > max ||
        (prefixText !== undefined && !/^\d+$/.test(prefixText))
      ) {
        throw new ConfigurationError(`source allowlist entry "${range}" is not a CIDR range`);
      }
      this.list.addSubnet(address, prefix, family === 4 ? 'ipv4' : 'ipv6');
    }
  }

  /** True when `ip` falls in any range. IPv4-mapped IPv6 addresses count as IPv4. */
  allows(ip: string | undefined): boolean {
    if (!ip) return false;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
    const address = mapped?.[1] ?? ip;
    const family = isIP(address);
    if (family === 0) return false;
    return this.list.check(address, family === 4 ? 'ipv4' : 'ipv6');
  }
}
