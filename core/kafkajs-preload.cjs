// Loaded first by the entry points (bin/rtap, stream threads, the speed and fraud benches), before
// anything loads kafkajs: kafkajs 2.2.4 groups a send's messages by partition copying the
// partition's array for every message (`[...current, message]`: quadratic — a 6,000-record
// checkpoint of the speed layer spent ~4 % of its CPU there). Its producer captures that module
// when kafkajs loads, so the replacement must be in Node's module cache before: same result
// (partition → messages in send order), built in place. Off with KAFKA_FAST_PATH=false, like the
// rest of core/kafkajs-fast-path.ts. Tested against kafkajs' own (test/unit/kafkajs-preload.test.ts).
'use strict';
const Module = require('node:module');

const GROUPING = 'kafkajs/src/producer/groupMessagesPerPartition.js';

function groupMessagesPerPartition({ topic, partitionMetadata, messages, partitioner }) {
  if (partitionMetadata.length === 0) return {};
  const result = {};
  for (const message of messages) {
    const partition = partitioner({ topic, partitionMetadata, message });
    const list = result[partition];
    if (list === undefined) result[partition] = [message];
    else list.push(message);
  }
  return result;
}

/** Puts the linear grouping in the module cache; false when kafkajs' producer has already loaded its own. */
function preloadKafkajsGrouping() {
  const file = require.resolve(GROUPING);
  const cached = require.cache[file];
  if (cached) return cached.exports === groupMessagesPerPartition;
  const m = new Module(file, module);
  m.filename = file;
  m.paths = Module._nodeModulePaths(require('node:path').dirname(file));
  m.exports = groupMessagesPerPartition;
  m.loaded = true;
  require.cache[file] = m;
  return true;
}

// the same spellings of 'off' as core/config.ts reads for KAFKA_FAST_PATH
if (!/^(0|false|no|off)$/i.test(process.env.KAFKA_FAST_PATH ?? '')) preloadKafkajsGrouping();

module.exports = { groupMessagesPerPartition, preloadKafkajsGrouping };
