// Two clients nobody here wrote, against devnode: viem (HTTP and WebSocket
// watchers, custom-error decoding, eth_simulateV1, wallet actions through
// the node's accounts) and ethers v6 (getSigner(0), signing through the
// node). Run by scripts/js-check.sh with DEVNODE_URL set; exits non-zero on
// the first wrong answer.
import assert from 'node:assert/strict';
import {
  createPublicClient, createTestClient, createWalletClient, defineChain, http, webSocket,
  encodeAbiParameters, parseAbi, verifyMessage, verifyTypedData, BaseError, ContractFunctionRevertedError,
} from 'viem';
import { ethers } from 'ethers';

const url = process.env.DEVNODE_URL;
const wsUrl = url.replace('http', 'ws');
const NITRO_DEV = '0x3f1Eae7D46d88F08fc2F8ed27FCb2AB183EB2d0E';
const chain = defineChain({
  id: 412346, name: 'devnode',
  nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
  rpcUrls: { default: { http: [url], webSocket: [wsUrl] } },
});
const ok = (name) => console.log(`ok  ${name}`);
const within = (ms, what, promise) => Promise.race([
  promise,
  new Promise((_, reject) => setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms)),
]);

const client = createPublicClient({ chain, transport: http(url) });
const ws = createPublicClient({ chain, transport: webSocket(wsUrl) });
const test = createTestClient({ chain, mode: 'anvil', transport: http(url) });
const wallet = createWalletClient({ chain, account: NITRO_DEV, transport: http(url) });

assert.equal(await client.getChainId(), 412346);
ok('viem chain id');

// Custom errors: a contract reverting with Nope(42) is decoded by name.
const nope = '0x00000000000000000000000000000000000a0b0e';
await test.setCode({ address: nope, bytecode: '0x6363a2a81f60e01b5f52602a60045260245ffd' });
const nopeAbi = parseAbi(['function poke()', 'error Nope(uint256 code)']);
try {
  await client.simulateContract({ address: nope, abi: nopeAbi, functionName: 'poke', account: NITRO_DEV });
  assert.fail('poke must revert');
} catch (error) {
  assert.ok(error instanceof BaseError, String(error));
  const reverted = error.walk((e) => e instanceof ContractFunctionRevertedError);
  assert.ok(reverted, String(error));
  assert.equal(reverted.data?.errorName, 'Nope');
  assert.deepEqual(reverted.data?.args, [42n]);
}
ok('viem simulateContract decodes a custom error');

// Watchers over WebSocket (string subscription ids) and HTTP polling.
const emitter = '0x00000000000000000000000000000000000e0e0e';
const topic = '0x48257dc961b6f792c2b78a080dacfed693b660960a702de21cee364e20270e2f';
await test.setCode({ address: emitter, bytecode: `0x5f355f527f${topic.slice(2)}60205fa100` });
const pingAbi = parseAbi(['event Ping(uint256 n)']);
const seenBlock = new Promise((resolve) => {
  const stop = ws.watchBlocks({ onBlock: (block) => { stop(); resolve(block.number); } });
});
const seenEvent = new Promise((resolve) => {
  const stop = ws.watchContractEvent({
    address: emitter, abi: pingAbi, eventName: 'Ping',
    onLogs: (logs) => { stop(); resolve(logs[0].args.n); },
  });
});
const polled = new Promise((resolve) => {
  const stop = client.watchContractEvent({
    address: emitter, abi: pingAbi, eventName: 'Ping', pollingInterval: 100,
    onLogs: (logs) => { stop(); resolve(logs[0].args.n); },
  });
});
await new Promise((r) => setTimeout(r, 500));
const hash = await wallet.sendTransaction({ to: emitter, data: encodeAbiParameters([{ type: 'uint256' }], [7n]) });
const receipt = await client.waitForTransactionReceipt({ hash });
assert.equal(receipt.status, 'success');
ok('viem sendTransaction through eth_sendTransaction');
assert.ok((await within(10000, 'watchBlocks', seenBlock)) >= 1n);
ok('viem WebSocket watchBlocks');
assert.equal(await within(10000, 'watchContractEvent (ws)', seenEvent), 7n);
ok('viem WebSocket watchContractEvent');
assert.equal(await within(10000, 'watchContractEvent (http)', polled), 7n);
ok('viem HTTP watchContractEvent');

// eth_simulateV1: the second call sees the first; a revert is a result.
const counter = '0x00000000000000000000000000000000000c0c0c';
await test.setCode({ address: counter, bytecode: '0x5f545f355f555f5260205ff3' });
const word = (n) => encodeAbiParameters([{ type: 'uint256' }], [n]);
const { results } = await client.simulateCalls({
  account: NITRO_DEV,
  calls: [{ to: counter, data: word(5n) }, { to: counter, data: word(6n) }, { to: nope, data: '0x' }],
});
assert.equal(results[0].status, 'success');
assert.equal(results[1].data, word(5n));
assert.equal(results[2].status, 'failure');
ok('viem simulateCalls (eth_simulateV1)');

// Signing through the node's accounts.
const message = 'pond devnode';
const signature = await wallet.signMessage({ message });
assert.ok(await verifyMessage({ address: NITRO_DEV, message, signature }));
ok('viem signMessage (personal_sign)');
const typed = {
  domain: { name: 'Pond', version: '1', chainId: 412346, verifyingContract: emitter },
  types: { Job: [{ name: 'price', type: 'uint256' }, { name: 'uri', type: 'string' }] },
  primaryType: 'Job',
  message: { price: 10n, uri: 'ipfs://job' },
};
const typedSignature = await wallet.signTypedData(typed);
assert.ok(await verifyTypedData({ address: NITRO_DEV, ...typed, signature: typedSignature }));
ok('viem signTypedData (eth_signTypedData_v4)');

// ethers v6: the first signer is the first dev account, and signs.
const provider = new ethers.JsonRpcProvider(url, 412346, { staticNetwork: true });
const signer = await provider.getSigner(0);
assert.equal(await signer.getAddress(), NITRO_DEV);
ok('ethers getSigner(0) is the Nitro dev account');
const ethersSignature = await signer.signMessage(message);
assert.equal(ethers.verifyMessage(message, ethersSignature), NITRO_DEV);
ok('ethers signMessage');
const ethersTyped = await signer.signTypedData(
  { ...typed.domain }, typed.types, { price: 10n, uri: 'ipfs://job' },
);
assert.equal(ethers.verifyTypedData({ ...typed.domain }, typed.types, { price: 10n, uri: 'ipfs://job' }, ethersTyped), NITRO_DEV);
ok('ethers signTypedData');
const sent = await signer.sendTransaction({ to: '0x0000000000000000000000000000000000004343', value: 5n });
const mined = await sent.wait();
assert.equal(mined.status, 1);
assert.equal(await provider.getBalance('0x0000000000000000000000000000000000004343'), 5n);
ok('ethers sendTransaction');

await ws.transport.getRpcClient().then((rpc) => rpc.close());
provider.destroy();
console.log('js-check: all good');
process.exit(0);
