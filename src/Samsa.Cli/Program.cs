// The command-line tool arrives with its own issue; until then it only says so.
Console.Error.WriteLine("samsa: the command-line tool is not built yet; see samples/Samsa.Sample.");
return 1;
