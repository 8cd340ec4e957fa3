import { BlockList, isIP } from 'node:net';

/**
 * Parses AUTH_TRUSTED_PROXIES entries — addresses (`10.0.0.5`, `::1`) or CIDR ranges
 * (`172.16.0.0/12`, `fd00::/8`) — into a matcher. A range is what a container network needs:
 * the gateway's address there is assigned at start. Returns the entries that are neither.
 */
export function parseTrustedProxies(entries: readonly string[]): { list: BlockList; invalid: string[] } {
  const list = new BlockList();
  const invalid: string[] = [];
  for (const entry of entries) {
    const [address = '', prefix, extra] = entry.split('/');
    const family = isIP(address);
    const type = family === 6 ? 'ipv6' : 'ipv4';
    if (family === 0 || extra !== undefined) invalid.push(entry);
    else if (prefix === undefined) list.addAddress(address, type);
    else if (/^[0-9]{1,3}$/.test(prefix) && Number(prefix) <= (family === 6 ? 128 : 32))
      list.addSubnet(address, Number(prefix), type);
    else invalid.push(entry);
  }
  return { list, invalid };
}
