console.log('cli ok', process.version, process.argv.slice(2));
