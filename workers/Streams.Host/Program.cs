using Streams.Host;

return await StreamsHost.RunAsync(args);
